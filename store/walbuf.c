/*
** walbuf.c is a VFS shim over SQLite's default (unix) VFS that gathers runs
** of consecutive writes into one write call.
**
** SQLite writes each WAL frame with two calls, its 24-byte header and then
** its page, so a sync push of 100 reports made about 260 write calls at
** commit, and a checkpoint then copies the WAL into the database with one
** call per page: on a virtual machine, where a system call is dear, these
** were the largest single cost of a push. The shim appends consecutive
** writes to a WAL or main database file into a buffer of up to WALBUF_MAX
** bytes and writes the buffer out with one call. The buffer goes out:
**
**   - for a WAL file, as soon as a commit frame (a frame header whose
**     "database size after commit" field is not zero) and its page are
**     buffered, inside the write call of that page, so a failed write fails
**     the COMMIT as it would have without the shim;
**   - before any other operation on the same file (read, sync, truncate,
**     size, lock, unlock, file control, memory-mapped fetch, close), so the
**     connection that wrote the bytes always reads them back, and a
**     checkpoint's pages are in the file before it records how far it got
**     (it calls SQLITE_FCNTL_CKPT_DONE, then truncates or syncs, first);
**   - before any shared-memory lock or barrier: the file's own buffer, and
**     every WAL file's. A commit is published to other connections by the
**     second copy of the WAL-index header, written after a barrier
**     (walIndexWriteHdr), so no reader is told of a frame still in a buffer;
**   - when the buffer would pass WALBUF_MAX bytes, and for any write that
**     does not continue the buffered run.
**
** A database file's writes are gathered only once it has mapped the
** WAL-index (shared memory), that is in WAL mode, where the only writes to
** it are checkpoints'. In rollback-journal mode the journal is deleted to
** commit, possibly without a sync, and the pages must reach the file first.
**
** WAL files are also read through a read-only shared mapping of the file
** rather than one read call per page: a checkpoint reads every frame it
** copies, and a reader every page it finds in the WAL, which was about a
** twentieth of a push's server CPU in read calls. A read is served from the
** mapping only when it lies within the bytes known to be in the file (those
** this file has written, else the file's size, asked again when a read goes
** past it), so the mapping is never touched beyond the end of the file;
** anything else goes to the unix VFS as before. The mapping shows what the
** file holds: writes by any connection or process go through the same page
** cache. As with SQLite's own mapping of the database (mmap_size), an I/O
** error on a page not in memory, or another process truncating the WAL under
** a read, ends the process with SIGBUS rather than returning an error;
** SQLite's locking never has a connection read a frame that is not there.
**
** Journal and temporary files and the shared memory go straight to the unix
** VFS. A write-out that fails where no error can be returned (a barrier,
** which in practice finds the buffers empty) ends the process: what it
** would have published is not yet visible, and WAL recovery at the next
** open drops unacknowledged frames by their checksums.
*/
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "walbuf.h"

/* The unix VFS writes at most 128 KB - 1 in one call (seekAndWriteFd masks
** the length with 0x1ffff), so a buffer is written out before it passes
** 124 KB: 30 frames of 4 KB pages in one call instead of 60. */
#define WALBUF_MAX (124 * 1024)
#define WAL_FRAME_HDR 24

/* A WAL file is mapped this far (address space only; a read past it, in a
** WAL grown beyond 1 GB because readers held checkpoints back, goes to the
** unix VFS). */
#define WALMAP_MAX ((sqlite3_int64)1 << 30)

typedef struct BufFile BufFile;
struct BufFile {
  sqlite3_file base;
  sqlite3_file *real;    /* the unix VFS's file, allocated right after this */
  int isWal;             /* a WAL file */
  int buffered;          /* a WAL or main database file: writes may be gathered */
  int walMode;           /* a main database file that has mapped shared memory */
  char *buf;             /* buffered bytes, to be written at bufOff */
  sqlite3_int64 bufOff;
  int bufLen;
  sqlite3_int64 commitPage; /* offset of the page of a buffered commit frame, or -1 */
  const char *map;       /* a WAL file mapped read-only, WALMAP_MAX bytes, or 0 */
  sqlite3_int64 mapValid; /* bytes from offset 0 known to be in the file; atomic, set under mu */
  pthread_mutex_t mu;    /* guards the buffer: barriers flush from any thread */
  BufFile *next, *prev;  /* open WAL files, under listMu */
};

static sqlite3_vfs bufVfs;
static sqlite3_vfs *realVfs;
static sqlite3_io_methods bufMethods;
static pthread_mutex_t listMu = PTHREAD_MUTEX_INITIALIZER;
static BufFile *walFiles;
static long long nWrites, nFlushes; /* calls saved and made, for tests */
static long long nMapReads, nWalReads; /* WAL reads served by the mapping and by read calls */

/* realWrite writes to the unix VFS's file and, for a mapped WAL, extends the
** bytes known to be in it. The caller holds p->mu. */
static int realWrite(BufFile *p, const void *data, int n, sqlite3_int64 off) {
  int rc = p->real->pMethods->xWrite(p->real, data, n, off);
  if (rc == SQLITE_OK && p->map && off + n > p->mapValid) {
    __atomic_store_n(&p->mapValid, off + n, __ATOMIC_RELEASE);
  }
  return rc;
}

/* flushLocked writes the buffer out; the caller holds p->mu. A buffer that
** fails to go out is kept, so the next operation on the file tries again
** and fails too: a checkpoint, which ignores the result of the file control
** that flushes its pages, then fails at its truncate or sync instead of
** recording pages that never reached the file. */
static int flushLocked(BufFile *p) {
  int rc = SQLITE_OK;
  if (p->bufLen > 0) {
    rc = realWrite(p, p->buf, p->bufLen, p->bufOff);
    __atomic_add_fetch(&nFlushes, 1, __ATOMIC_RELAXED);
    if (rc == SQLITE_OK) p->bufLen = 0;
  }
  return rc;
}

static int flush(BufFile *p) {
  if (!p->buffered) return SQLITE_OK;
  pthread_mutex_lock(&p->mu);
  int rc = flushLocked(p);
  pthread_mutex_unlock(&p->mu);
  return rc;
}

static void flushAll(void) {
  pthread_mutex_lock(&listMu);
  for (BufFile *p = walFiles; p; p = p->next) {
    if (flush(p) != SQLITE_OK) {
      fprintf(stderr, "fieldsync: writing the SQLite WAL failed before a commit was published; stopping\n");
      abort();
    }
  }
  pthread_mutex_unlock(&listMu);
}

static int bufWrite(sqlite3_file *f, const void *data, int n, sqlite3_int64 off) {
  BufFile *p = (BufFile *)f;
  if (!p->buffered || (!p->isWal && !p->walMode)) return p->real->pMethods->xWrite(p->real, data, n, off);
  int rc = SQLITE_OK;
  pthread_mutex_lock(&p->mu);
  __atomic_add_fetch(&nWrites, 1, __ATOMIC_RELAXED);
  if (p->bufLen > 0 && (off != p->bufOff + p->bufLen || p->bufLen + n > WALBUF_MAX)) {
    rc = flushLocked(p);
    if (rc != SQLITE_OK) goto done;
  }
  if (n > WALBUF_MAX) {
    rc = realWrite(p, data, n, off);
    goto done;
  }
  if (!p->buf) {
    p->buf = malloc(WALBUF_MAX);
    if (!p->buf) {
      rc = realWrite(p, data, n, off);
      goto done;
    }
  }
  if (p->bufLen == 0) p->bufOff = off;
  memcpy(p->buf + p->bufLen, data, n);
  p->bufLen += n;
  if (!p->isWal) {
    /* a database page: no commit frames here */
  } else if (n == WAL_FRAME_HDR) {
    const unsigned char *h = data;
    p->commitPage = (h[4] | h[5] | h[6] | h[7]) ? off + WAL_FRAME_HDR : -1;
  } else if (off == p->commitPage) {
    /* Stays set if another thread's barrier flushed the header alone. */
    p->commitPage = -1;
    rc = flushLocked(p);
  }
done:
  pthread_mutex_unlock(&p->mu);
  return rc;
}

static int bufClose(sqlite3_file *f) {
  BufFile *p = (BufFile *)f;
  int rc = SQLITE_OK;
  if (p->isWal) {
    pthread_mutex_lock(&listMu);
    if (p->prev) p->prev->next = p->next; else walFiles = p->next;
    if (p->next) p->next->prev = p->prev;
    pthread_mutex_unlock(&listMu);
  }
  if (p->buffered) {
    rc = flush(p);
    free(p->buf);
    pthread_mutex_destroy(&p->mu);
  }
  if (p->map) munmap((void *)p->map, WALMAP_MAX);
  int rc2 = p->real->pMethods->xClose(p->real);
  return rc != SQLITE_OK ? rc : rc2;
}

static int bufRead(sqlite3_file *f, void *data, int n, sqlite3_int64 off) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  if (rc != SQLITE_OK) return rc;
  if (p->map && off >= 0 && n > 0 && off + n <= WALMAP_MAX) {
    sqlite3_int64 valid = __atomic_load_n(&p->mapValid, __ATOMIC_ACQUIRE);
    if (off + n > valid) {
      /* Frames another connection or process wrote: the file's size says
      ** whether they are there. */
      sqlite3_int64 size;
      if (p->real->pMethods->xFileSize(p->real, &size) == SQLITE_OK) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->mapValid, size, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&p->mu);
        valid = size;
      }
    }
    if (off + n <= valid) {
      memcpy(data, p->map + off, n);
      __atomic_add_fetch(&nMapReads, 1, __ATOMIC_RELAXED);
      return SQLITE_OK;
    }
  }
  if (p->isWal) __atomic_add_fetch(&nWalReads, 1, __ATOMIC_RELAXED);
  return p->real->pMethods->xRead(p->real, data, n, off);
}

static int bufTruncate(sqlite3_file *f, sqlite3_int64 size) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  if (rc != SQLITE_OK) return rc;
  if (p->map) {
    /* Lowered first: no read may reach past the new end once it is cut. */
    pthread_mutex_lock(&p->mu);
    if (size < p->mapValid) __atomic_store_n(&p->mapValid, size, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&p->mu);
  }
  return p->real->pMethods->xTruncate(p->real, size);
}

static int bufSync(sqlite3_file *f, int flags) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int bufFileSize(sqlite3_file *f, sqlite3_int64 *size) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int bufLock(sqlite3_file *f, int lock) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xLock(p->real, lock);
}

static int bufUnlock(sqlite3_file *f, int lock) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xUnlock(p->real, lock);
}

static int bufCheckReservedLock(sqlite3_file *f, int *out) {
  BufFile *p = (BufFile *)f;
  return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int bufFileControl(sqlite3_file *f, int op, void *arg) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xFileControl(p->real, op, arg);
}

static int bufSectorSize(sqlite3_file *f) {
  BufFile *p = (BufFile *)f;
  return p->real->pMethods->xSectorSize(p->real);
}

static int bufDeviceCharacteristics(sqlite3_file *f) {
  BufFile *p = (BufFile *)f;
  return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int bufShmMap(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp) {
  BufFile *p = (BufFile *)f;
  /* Only a database in WAL mode maps shared memory. */
  p->walMode = 1;
  return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int bufShmLock(sqlite3_file *f, int offset, int n, int flags) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  if (rc != SQLITE_OK) return rc;
  flushAll();
  return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void bufShmBarrier(sqlite3_file *f) {
  BufFile *p = (BufFile *)f;
  if (flush(p) != SQLITE_OK) {
    fprintf(stderr, "fieldsync: writing the SQLite database failed before a checkpoint was published; stopping\n");
    abort();
  }
  flushAll();
  p->real->pMethods->xShmBarrier(p->real);
}

static int bufShmUnmap(sqlite3_file *f, int del) {
  BufFile *p = (BufFile *)f;
  return p->real->pMethods->xShmUnmap(p->real, del);
}

static int bufFetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  BufFile *p = (BufFile *)f;
  int rc = flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xFetch(p->real, off, n, pp);
}

static int bufUnfetch(sqlite3_file *f, sqlite3_int64 off, void *ptr) {
  BufFile *p = (BufFile *)f;
  return p->real->pMethods->xUnfetch(p->real, off, ptr);
}

static int bufOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
  BufFile *p = (BufFile *)f;
  memset(p, 0, sizeof(*p));
  p->real = (sqlite3_file *)&p[1];
  int rc = realVfs->xOpen(realVfs, name, p->real, flags, outFlags);
  if (rc != SQLITE_OK || p->real->pMethods == 0 || p->real->pMethods->iVersion < 3) {
    /* The shim needs every method of version 3; anything else cannot be
    ** wrapped, and the unix VFS never gives it. */
    if (rc == SQLITE_OK && p->real->pMethods) {
      p->real->pMethods->xClose(p->real);
      rc = 1; /* SQLITE_ERROR */
    }
    p->base.pMethods = 0;
    return rc;
  }
  p->isWal = (flags & SQLITE_OPEN_WAL) != 0;
  p->buffered = p->isWal || (flags & SQLITE_OPEN_MAIN_DB) != 0;
  p->commitPage = -1;
  if (p->buffered) pthread_mutex_init(&p->mu, 0);
  if (p->isWal && name) {
    /* The file exists now: the unix VFS has opened (or created) it. The
    ** mapping keeps the file, so the descriptor can go at once. */
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      sqlite3_int64 size = 0;
      void *m = mmap(0, WALMAP_MAX, PROT_READ, MAP_SHARED, fd, 0);
      close(fd);
      if (m != MAP_FAILED && p->real->pMethods->xFileSize(p->real, &size) == SQLITE_OK) {
        p->map = m;
        p->mapValid = size;
      } else if (m != MAP_FAILED) {
        munmap(m, WALMAP_MAX);
      }
    }
  }
  if (p->isWal) {
    pthread_mutex_lock(&listMu);
    p->next = walFiles;
    if (walFiles) walFiles->prev = p;
    walFiles = p;
    pthread_mutex_unlock(&listMu);
  }
  p->base.pMethods = &bufMethods;
  return SQLITE_OK;
}

/* The remaining VFS methods are the unix VFS's, called with its own object. */
static int bufDelete(sqlite3_vfs *v, const char *z, int s) { return realVfs->xDelete(realVfs, z, s); }
static int bufAccess(sqlite3_vfs *v, const char *z, int fl, int *o) { return realVfs->xAccess(realVfs, z, fl, o); }
static int bufFullPathname(sqlite3_vfs *v, const char *z, int n, char *o) { return realVfs->xFullPathname(realVfs, z, n, o); }
static void *bufDlOpen(sqlite3_vfs *v, const char *z) { return realVfs->xDlOpen(realVfs, z); }
static void bufDlError(sqlite3_vfs *v, int n, char *z) { realVfs->xDlError(realVfs, n, z); }
static void (*bufDlSym(sqlite3_vfs *v, void *h, const char *z))(void) { return realVfs->xDlSym(realVfs, h, z); }
static void bufDlClose(sqlite3_vfs *v, void *h) { realVfs->xDlClose(realVfs, h); }
static int bufRandomness(sqlite3_vfs *v, int n, char *o) { return realVfs->xRandomness(realVfs, n, o); }
static int bufSleep(sqlite3_vfs *v, int us) { return realVfs->xSleep(realVfs, us); }
static int bufCurrentTime(sqlite3_vfs *v, double *t) { return realVfs->xCurrentTime(realVfs, t); }
static int bufGetLastError(sqlite3_vfs *v, int n, char *z) { return realVfs->xGetLastError(realVfs, n, z); }
static int bufCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t) { return realVfs->xCurrentTimeInt64(realVfs, t); }
static int bufSetSystemCall(sqlite3_vfs *v, const char *z, sqlite3_syscall_ptr f) { return realVfs->xSetSystemCall(realVfs, z, f); }
static sqlite3_syscall_ptr bufGetSystemCall(sqlite3_vfs *v, const char *z) { return realVfs->xGetSystemCall(realVfs, z); }
static const char *bufNextSystemCall(sqlite3_vfs *v, const char *z) { return realVfs->xNextSystemCall(realVfs, z); }

/*
** keepMallocMemory makes glibc's malloc, which serves SQLite's page caches,
** sorters and result texts, keep the memory it is given instead of handing
** it back to the kernel and faulting it in again: by default it trims the
** top of a heap as soon as 128 KB there are free and maps every block of
** 128 KB or more afresh, and each reader connection's page cache is dropped
** whenever a commit changes the database. Under a pull that churn was a
** tenth of the server's CPU in page faults and heap growth (perf), on a
** virtual machine where a fault is dear. Kept: up to 256 MB free at the top
** of a heap (memory the process has used at its peak anyway), heaps grown
** 16 MB at a time (address space, faulted in only when used), and blocks
** under 4 MB from the heap. Paired bench runs: a fifth less server CPU per
** pulled change and 14% less per pushed report. An operator's
** GLIBC_TUNABLES is left to rule.
*/
static void keepMallocMemory(void) {
#ifdef __GLIBC__
  if (getenv("GLIBC_TUNABLES") != 0) return;
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

/*
** fieldsync_sqlite_setup turns SQLite's memory statistics off, before SQLite
** initialises (it shuts SQLite down first, which is harmless while no
** connection is open). With them on, every allocation and free takes a
** global mutex and asks malloc for the block's size, a few percent of a sync
** push; nothing in fieldsync reads them or sets a soft heap limit, which is
** all they serve. It first tunes malloc (keepMallocMemory). It returns
** SQLITE_OK or SQLite's error.
*/
int fieldsync_sqlite_setup(void) {
  keepMallocMemory();
  int rc = sqlite3_shutdown();
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_initialize();
}

/*
** fieldsync_walbuf_register makes the shim the default VFS, over the default
** VFS at the time of the call. It returns SQLITE_OK, or an error if there is
** no default VFS of version 3. Calling it again does nothing.
*/
int fieldsync_walbuf_register(void) {
  if (realVfs) return SQLITE_OK;
  sqlite3_vfs *real = sqlite3_vfs_find(0);
  if (!real || real->iVersion < 3) return 1;
  realVfs = real;
  bufMethods = (sqlite3_io_methods){
      3, bufClose, bufRead, bufWrite, bufTruncate, bufSync, bufFileSize, bufLock, bufUnlock,
      bufCheckReservedLock, bufFileControl, bufSectorSize, bufDeviceCharacteristics, bufShmMap,
      bufShmLock, bufShmBarrier, bufShmUnmap, bufFetch, bufUnfetch};
  bufVfs = (sqlite3_vfs){
      3, (int)sizeof(BufFile) + real->szOsFile, real->mxPathname, 0, "fieldsync-walbuf", 0,
      bufOpen, bufDelete, bufAccess, bufFullPathname, bufDlOpen, bufDlError, bufDlSym, bufDlClose,
      bufRandomness, bufSleep, bufCurrentTime, bufGetLastError, bufCurrentTimeInt64,
      bufSetSystemCall, bufGetSystemCall, bufNextSystemCall};
  return sqlite3_vfs_register(&bufVfs, 1);
}

/* fieldsync_walbuf_stats reports the WAL writes SQLite asked for and the write calls the shim made. */
void fieldsync_walbuf_stats(long long *writes, long long *flushes) {
  *writes = __atomic_load_n(&nWrites, __ATOMIC_RELAXED);
  *flushes = __atomic_load_n(&nFlushes, __ATOMIC_RELAXED);
}

/* fieldsync_walbuf_read_stats reports the WAL reads served by the mapping and by read calls. */
void fieldsync_walbuf_read_stats(long long *mapped, long long *calls) {
  *mapped = __atomic_load_n(&nMapReads, __ATOMIC_RELAXED);
  *calls = __atomic_load_n(&nWalReads, __ATOMIC_RELAXED);
}
