// FloraAdapters: see DESIGN.md section 3.
