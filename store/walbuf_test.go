package store

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

const walbufRows = 200 // rows per transaction, about 50 pages of WAL

func openWAL(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// createWALBufTable makes the table commitBatch writes to.
func createWALBufTable(t testing.TB, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec("CREATE TABLE t (k INTEGER, i INTEGER, payload BLOB, PRIMARY KEY (k, i))"); err != nil {
		t.Fatal(err)
	}
}

// commitBatch writes one transaction of walbufRows rows tagged k.
func commitBatch(db *sql.DB, k int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := 0; i < walbufRows; i++ {
		if _, err := tx.Exec("INSERT INTO t (k, i, payload) VALUES (?, ?, ?)", k, i, bytes.Repeat([]byte{byte(k + i)}, 1000)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// TestWALBufVisibleAtCommit holds the buffering VFS to its contract: a
// transaction's WAL frames and a checkpoint's pages go out in far fewer write
// calls than SQLite makes, WAL reads come from the file's mapping, and
// another connection sees every committed row the moment COMMIT returns, and
// never a row of a transaction still open.
func TestWALBufVisibleAtCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	w := openWAL(t, path)
	defer w.Close()
	w.SetMaxOpenConns(1)
	createWALBufTable(t, w)
	// Checkpoints every hundred pages, and both sides read the database
	// through a memory map as the store's connections do, so the test also
	// covers checkpointed pages read back by another connection and the WAL
	// restarting from its start.
	if _, err := w.Exec("PRAGMA wal_autocheckpoint = 100; PRAGMA mmap_size = 268435456"); err != nil {
		t.Fatal(err)
	}
	r := openWAL(t, path)
	defer r.Close()
	r.SetMaxOpenConns(1)
	if _, err := r.Exec("PRAGMA mmap_size = 268435456"); err != nil {
		t.Fatal(err)
	}
	writes0, flushes0 := walbufStats()
	mapped0, calls0 := walbufReadStats()
	for k := 0; k < 40; k++ {
		if err := commitBatch(w, k); err != nil {
			t.Fatal(err)
		}
		// Every row whole: its payload is 1,000 bytes of (k + i) mod 256.
		var n, bad int
		if err := r.QueryRow(`SELECT count(*), count(*) FILTER (WHERE hex(payload) <>
			replace(hex(zeroblob(1000)), '00', printf('%02X', (k + i) % 256))) FROM t`).Scan(&n, &bad); err != nil {
			t.Fatal(err)
		}
		if want := (k + 1) * walbufRows; n != want || bad != 0 {
			t.Fatalf("after commit %d another connection reads %d rows (%d of them wrong), want %d", k, n, bad, want)
		}
	}
	// An open transaction's rows stay out of sight, even once some of its
	// frames have been written (a reader's locks flush the buffers).
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < walbufRows*4; i++ {
		if _, err := tx.Exec("INSERT INTO t (k, i, payload) VALUES (?, ?, zeroblob(1000))", 1000, i); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := r.QueryRow("SELECT count(*) FROM t WHERE k = 1000").Scan(&n); err != nil || n != 0 {
		t.Fatalf("an uncommitted transaction's rows are visible: %d, %v", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := r.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
	writes, flushes := walbufStats()
	writes, flushes = writes-writes0, flushes-flushes0
	t.Logf("writes asked for: %d, write calls made: %d", writes, flushes)
	if flushes == 0 || flushes*10 > writes {
		t.Errorf("%d WAL writes took %d write calls: not gathered", writes, flushes)
	}
	// The checkpoints' and the reader's WAL reads came from the mapping; read
	// calls are left for reads past the end of the file (a new WAL's header).
	mapped, calls := walbufReadStats()
	mapped, calls = mapped-mapped0, calls-calls0
	t.Logf("WAL reads from the mapping: %d, read calls: %d", mapped, calls)
	if mapped < 1000 || calls*100 > mapped {
		t.Errorf("WAL reads: %d from the mapping, %d read calls", mapped, calls)
	}
}

// TestWALBufCrash kills a process that commits in a loop and checks that the
// database it leaves recovers whole: every transaction the process saw
// committed is there, none is there in part, and integrity_check passes.
func TestWALBufCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "c.db")
	db := openWAL(t, path)
	createWALBufTable(t, db)
	db.Close()
	for round := 0; round < 3; round++ {
		cmd := osexec.Command(os.Args[0], "-test.run=^TestWALBufCrashChild$")
		cmd.Env = append(os.Environ(), "FIELDSYNC_WALBUF_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := -1
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			k, err := strconv.Atoi(sc.Text())
			if err != nil {
				continue
			}
			acked = k
			if k >= 30*(round+1) {
				break
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if acked < 30*(round+1) {
			t.Fatalf("round %d: the child acknowledged only up to %d", round, acked)
		}
		db := openWAL(t, path)
		var ok string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("round %d: integrity_check after kill: %q, %v", round, ok, err)
		}
		var maxK, n int
		if err := db.QueryRow("SELECT coalesce(max(k), -1), count(*) FROM t").Scan(&maxK, &n); err != nil {
			t.Fatal(err)
		}
		if maxK < acked {
			t.Fatalf("round %d: transaction %d was acknowledged but is gone (max k %d)", round, acked, maxK)
		}
		if n != (maxK+1)*walbufRows {
			t.Fatalf("round %d: %d rows for transactions 0..%d: a transaction survived in part", round, n, maxK)
		}
		db.Close()
	}
}

// TestWALBufCrashChild is TestWALBufCrash's child: it commits transactions
// k = next, next+1, … and prints each k once its COMMIT has returned.
func TestWALBufCrashChild(t *testing.T) {
	path := os.Getenv("FIELDSYNC_WALBUF_CHILD")
	if path == "" {
		t.Skip("run by TestWALBufCrash")
	}
	db := openWAL(t, path)
	db.SetMaxOpenConns(1)
	var next int
	if err := db.QueryRow("SELECT coalesce(max(k), -1) + 1 FROM t").Scan(&next); err != nil {
		t.Fatal(err)
	}
	for k := next; ; k++ {
		if err := commitBatch(db, k); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(k)
	}
}

// TestWALBufLeavesRollbackJournalAlone: a database in rollback-journal mode
// commits by deleting its journal, possibly without a sync, so its page
// writes must reach the file at once: the shim gathers nothing for it.
func TestWALBufLeavesRollbackJournalAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE&_synchronous=OFF")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	createWALBufTable(t, db)
	writes0, _ := walbufStats()
	for k := 0; k < 5; k++ {
		if err := commitBatch(db, k); err != nil {
			t.Fatal(err)
		}
	}
	if writes, _ := walbufStats(); writes != writes0 {
		t.Errorf("%d writes of a rollback-journal database went through the buffer", writes-writes0)
	}
}
