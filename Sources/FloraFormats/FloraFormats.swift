// FloraFormats: see DESIGN.md section 3.
