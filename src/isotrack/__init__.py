"""isotrack: the isotretinoin practice's ledger and guide."""

__version__ = "0.1.0"
