// FloraTokenizer: see DESIGN.md section 3.
