package store

// #include "walbuf.h"
import "C"

import "fmt"

// SQLite is configured, and the write-gathering VFS (walbuf.c) becomes its
// default, before any database is opened: package initialisation runs
// before Open can.
func init() {
	if rc := C.fieldsync_sqlite_setup(); rc != 0 {
		panic(fmt.Sprintf("store: configuring SQLite: SQLite error %d", int(rc)))
	}
	if rc := C.fieldsync_walbuf_register(); rc != 0 {
		panic(fmt.Sprintf("store: registering the WAL buffering VFS: SQLite error %d", int(rc)))
	}
}

// walbufStats returns the writes to WAL and database files SQLite has asked
// for in this process and the write calls the buffering VFS made for them.
func walbufStats() (writes, flushes int64) {
	var w, f C.longlong
	C.fieldsync_walbuf_stats(&w, &f)
	return int64(w), int64(f)
}

// walbufReadStats returns the reads of WAL files in this process that the
// VFS served from its mapping of the file and those it passed to read calls.
func walbufReadStats() (mapped, calls int64) {
	var m, c C.longlong
	C.fieldsync_walbuf_read_stats(&m, &c)
	return int64(m), int64(c)
}
