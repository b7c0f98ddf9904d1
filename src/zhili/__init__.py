"""zhili (智理): a smart city-management platform for a district city-management bureau."""

__version__ = "0.1.0"
