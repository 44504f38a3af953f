"""Codes and sales: issuing codes, recording orders (webhooks, CSV, by hand), reports, fraud flags, celebrations."""
