"""What the end-to-end and load tests need beside the app: the browser they drive."""
