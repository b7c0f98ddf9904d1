"""Evidence files (证据材料): photos, videos and PDFs attached to reports, cases and work orders."""
