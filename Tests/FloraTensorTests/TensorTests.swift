import FloraTensor
import Testing

@Test func aTensorHoldsItsValuesInRowMajorOrder() {
    let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
    #expect(t.rows == 2 && t.columns == 3)
    #expect(t.pointer[1 * 3 + 2] == 6)
}
