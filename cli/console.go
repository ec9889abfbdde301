package cli

import "io/fs"

// consoleFS returns the console's assets; nil until the console is built.
func consoleFS() fs.FS { return nil }
