package server

import (
	"context"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/uploads"
	"github.com/google/uuid"
)

// photoServer adapts the evidence pipeline to what the API serves.
type photoServer struct{ svc *uploads.Service }

func (p photoServer) OpenOriginal(ctx context.Context, actor models.Actor, id uuid.UUID) (api.ReadSeekCloser, models.PhotoRecord, error) {
	b, rec, err := p.svc.OpenOriginal(ctx, actor, id)
	if err != nil {
		return nil, rec, err
	}
	return b, rec, nil
}

func (p photoServer) OpenThumbnail(ctx context.Context, actor models.Actor, id uuid.UUID, large bool) (api.ReadSeekCloser, string, error) {
	b, rec, err := p.svc.OpenThumbnail(ctx, actor, id, large)
	if err != nil {
		return nil, "", err
	}
	if large {
		return b, rec.ThumbLarge, nil
	}
	return b, rec.ThumbSmall, nil
}

func meta(m api.PhotoMeta) uploads.PhotoMeta {
	return uploads.PhotoMeta{PhotoID: m.PhotoID, CaseID: m.CaseID, Stage: m.Stage, Type: m.Type, SHA256: m.SHA256}
}

func (p photoServer) Challenge(ctx context.Context, actor models.Actor, m api.PhotoMeta) (string, error) {
	if err := meta(m).Validate(); err != nil {
		return "", err
	}
	return p.svc.Challenge(ctx, actor, meta(m))
}

func (p photoServer) Prove(ctx context.Context, actor models.Actor, m api.PhotoMeta, nonce, proof string) (models.PhotoRecord, error) {
	if err := meta(m).Validate(); err != nil {
		return models.PhotoRecord{}, err
	}
	return p.svc.Prove(ctx, actor, meta(m), nonce, proof)
}
