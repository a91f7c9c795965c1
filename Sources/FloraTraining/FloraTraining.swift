// FloraTraining: adapter training on a frozen base model (DESIGN.md section 6).
