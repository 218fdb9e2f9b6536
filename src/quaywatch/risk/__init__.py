"""Risk scoring: models (and later profiles, anomaly, screening) that rate a consignment."""
