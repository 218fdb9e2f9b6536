"""Domain vocabulary: cargo records, identifiers and reference code lists."""
