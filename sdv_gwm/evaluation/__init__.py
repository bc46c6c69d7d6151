"""Evaluation of synthetic tables: the structure report, privacy audits and the study."""
