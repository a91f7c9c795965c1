// FloraBench: see DESIGN.md section 3.
