"""The query pipeline: an ordered chain of small stages, then the audit, then the receipt."""
