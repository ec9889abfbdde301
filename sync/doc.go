// Package sync is fieldsync's one write path and its change feed.
//
// Every change to a case — a tablet's offline command or a clerk's edit in the
// console — is a models.Command applied by Engine, in one transaction with its
// effects: the case, its history, the command's outcome and, for devices, the
// device's high-water mark. A replayed command therefore returns its stored
// outcome and changes nothing.
//
// Edits merge field by field against the version the client saw (see Merge);
// workflow actions go through models.Apply against the current state; photos
// and comments are append-only. Values that lose a merge are kept in conflict
// records, never dropped.
//
// Pull pages the change feed by an opaque cursor built on the server's change
// sequence (never on clocks), within the caller's scope.
//
// This package shadows the standard library's sync: import that one as gosync
// where both are needed.
package sync
