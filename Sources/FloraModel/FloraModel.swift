// FloraModel: see DESIGN.md section 3.
