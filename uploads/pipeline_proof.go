package uploads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// Proof of possession (the idea of Couchbase's proveAttachment): a device may
// attach a photo whose bytes the server already holds without uploading them
// again, but only by proving it has the bytes. A hash alone never gives
// access: the server sends a fresh random nonce, and the device answers
// hex(SHA-256(nonce || file)), which only the holder of the file can compute.

const (
	// ProofNonceTTL is how long a challenge may be answered.
	ProofNonceTTL = 2 * time.Minute
	// maxOpenChallenges bounds the memory the challenges take.
	maxOpenChallenges = 10000
	nonceBytes        = 32
)

// Challenge starts a proof for the photo meta describes: it checks the photo
// may be attached by actor (as an upload's creation would, so CodeNotFound for
// a case out of scope) and that the server holds bytes with meta.SHA256
// (CodeNotFound otherwise, with a hint to upload them), and returns a nonce:
// 64 hex digits encoding 32 random bytes. The nonce can be answered once,
// within ProofNonceTTL, by the same actor for the same meta.
//
// Challenge necessarily tells an authenticated, in-scope caller whether bytes
// with a given hash exist; it never gives them those bytes.
func (s *Service) Challenge(ctx context.Context, actor models.Actor, meta PhotoMeta) (string, error) {
	if err := meta.Validate(); err != nil {
		return "", err
	}
	if err := s.authorize(ctx, actor, meta); err != nil {
		return "", err
	}
	has, err := s.blobs.Has(ctx, meta.SHA256)
	if err != nil {
		return "", fmt.Errorf("uploads: challenge: %w", err)
	}
	if !has {
		return "", models.Errorf(models.CodeNotFound, "the server does not hold these bytes").
			WithHint("upload the photo").WithField(metaSHA256)
	}
	var b [nonceBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("uploads: challenge: %w", err)
	}
	nonce := hex.EncodeToString(b[:])
	if !s.nonces.put(nonce, challenge{user: actor.UserID, device: actor.DeviceID, meta: meta,
		expires: s.now().Add(ProofNonceTTL)}, s.now()) {
		return "", models.Errorf(models.CodeUnavailable, "too many open challenges").WithHint("retry in a minute")
	}
	return nonce, nil
}

// Prove answers a challenge: proofHex must be hex(SHA-256(nonce || bytes))
// where nonce is the 32 bytes the nonce string encodes and bytes are the
// photo's. The nonce is consumed by the attempt, right or wrong; an unknown,
// expired or reused nonce, or one issued to another actor or for another
// photo, is refused with CodeProofRequired, and so is a wrong proof. On
// success the photo is recorded exactly as if its bytes had been uploaded
// (verified, flags, case bump, thumbnails, OnVerified).
func (s *Service) Prove(ctx context.Context, actor models.Actor, meta PhotoMeta, nonce, proofHex string) (models.PhotoRecord, error) {
	if err := meta.Validate(); err != nil {
		return models.PhotoRecord{}, err
	}
	ch, ok := s.nonces.take(nonce)
	if !ok || s.now().After(ch.expires) || ch.user != actor.UserID || ch.device != actor.DeviceID || !ch.meta.sameTarget(meta) {
		return models.PhotoRecord{}, models.Errorf(models.CodeProofRequired, "the challenge is unknown, expired or already used").
			WithHint("ask for a new challenge")
	}
	nb, err := hex.DecodeString(nonce)
	if err != nil || len(nb) != nonceBytes {
		return models.PhotoRecord{}, models.Errorf(models.CodeProofRequired, "the challenge is unknown, expired or already used")
	}
	proof, err := hex.DecodeString(lowerHex(proofHex))
	if err != nil || len(proof) != sha256.Size {
		return models.PhotoRecord{}, models.Errorf(models.CodeInvalidInput, "proof must be 64 hex digits").WithField("proof")
	}
	if err := s.authorize(ctx, actor, meta); err != nil {
		return models.PhotoRecord{}, err
	}
	b, err := s.blobs.Open(ctx, meta.SHA256)
	if err != nil {
		if models.IsNotFound(err) {
			return models.PhotoRecord{}, models.Errorf(models.CodeNotFound, "the server does not hold these bytes").WithHint("upload the photo")
		}
		return models.PhotoRecord{}, fmt.Errorf("uploads: prove: %w", err)
	}
	defer b.Close()
	h := sha256.New()
	h.Write(nb)
	if _, err := io.Copy(h, ctxReader{ctx, b}); err != nil {
		return models.PhotoRecord{}, fmt.Errorf("uploads: prove: %w", err)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), proof) != 1 {
		return models.PhotoRecord{}, models.Errorf(models.CodeProofRequired, "the proof does not match the bytes").
			WithHint("compute hex(SHA-256(nonce bytes || photo bytes)) with a new challenge, or upload the photo")
	}
	info, err := s.inspect(b, b.Size())
	if err != nil {
		return models.PhotoRecord{}, err
	}
	return s.accept(ctx, meta, uploaderOf{actor.UserID, actor.DeviceID}, b.Size(), info)
}

// challenge is an open proof challenge.
type challenge struct {
	user, device uuid.UUID
	meta         PhotoMeta
	expires      time.Time
}

// nonceStore keeps open challenges in memory: a restart invalidates them,
// which only costs the device a new challenge.
type nonceStore struct {
	mu sync.Mutex
	m  map[string]challenge
}

func (n *nonceStore) init() { n.m = make(map[string]challenge) }

// put stores a challenge, dropping expired ones when the store is full; it
// reports false when it is still full.
func (n *nonceStore) put(nonce string, c challenge, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.m) >= maxOpenChallenges {
		for k, v := range n.m {
			if now.After(v.expires) {
				delete(n.m, k)
			}
		}
		if len(n.m) >= maxOpenChallenges {
			return false
		}
	}
	n.m[nonce] = c
	return true
}

// take removes and returns a challenge: every nonce is single-use.
func (n *nonceStore) take(nonce string) (challenge, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.m[nonce]
	delete(n.m, nonce)
	return c, ok
}
