package store

// #include "walbuf.h"
import "C"

import "fmt"

// The WAL write-gathering VFS (walbuf.c) becomes SQLite's default before
// any database is opened: package initialisation runs before Open can.
func init() {
	if rc := C.fieldsync_walbuf_register(); rc != 0 {
		panic(fmt.Sprintf("store: registering the WAL buffering VFS: SQLite error %d", int(rc)))
	}
}

// walbufStats returns the WAL writes SQLite has asked for in this process and
// the write calls the buffering VFS made for them.
func walbufStats() (writes, flushes int64) {
	var w, f C.longlong
	C.fieldsync_walbuf_stats(&w, &f)
	return int64(w), int64(f)
}
