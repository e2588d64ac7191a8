from sinelstm.cli import main

raise SystemExit(main())
