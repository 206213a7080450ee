"""What the DPO and the DSN read beyond the audit log: shadow-AI discovery (``discovery``), the register
of AI systems (``register``), the weekly summary (``weekly``) and the threshold alerts (``alerts``).
Everything is computed from the audit store and the catalogue; nothing here stores a detected value."""
