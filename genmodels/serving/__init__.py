"""Serving many students from one process: background jobs with slots and caps (jobs.py), and the
clean-up of a closed tab's jobs and models (watchdog.py)."""
