"""Sheet backends: one interface (base.SheetBackend), three implementations (memory, excel, google)."""
