"""Learning: evaluation of detection against ground truth (metrics, reports); retraining later."""
