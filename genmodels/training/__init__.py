"""Training: the family-agnostic loop of events (loop.py), each family's step, evaluation and
snapshot (steps.py), the optimiser (optim.py), accelerator settings (accel.py), and CPU speed
paths kept apart from the code students read (fast/)."""
