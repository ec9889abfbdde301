package sync

import (
	"slices"

	"github.com/fieldsync/fieldsync/models"
)

// MergeInput is what the three-way field merge needs: the case's current
// values, the edits other writers made since the client's base version, and
// the values the client wants.
type MergeInput struct {
	// Current maps each editable field to its value on the server now.
	Current map[string]string
	// Theirs are the field changes other writers committed after the base
	// version, oldest first. Changes by the same writer (its own earlier
	// commands) must be left out by the caller: a writer never conflicts with
	// itself.
	Theirs []models.FieldChange
	// Mine maps each field the client edits to its new value.
	Mine map[string]string
}

// MergeResult is the outcome of Merge.
type MergeResult struct {
	// Set maps the fields to write to their new values.
	Set map[string]string
	// Conflicts lists the fields both sides changed to different values. The
	// server's value stands; the client's is set aside in a conflict record.
	Conflicts []FieldConflict
	// Parallel reports that other writers changed other fields since the base
	// version: the edit merged with theirs ("parallel update").
	Parallel bool
	// Final maps every field the client named to the value that now stands.
	Final map[string]string
}

// FieldConflict is one field both sides changed since the base version.
type FieldConflict struct {
	Field    string
	Base     string // the value both sides started from
	Kept     string // the server's value, which stands
	SetAside string // the client's value, kept in the conflict record
}

// Merge is the three-way, field-level merge of a client's edit against the
// server's state. It is deterministic and has no I/O.
//
// The rule for each field the client names:
//   - unchanged by others since the base version: the client's value is taken;
//   - changed by others, and the client wrote the same value: nothing to do;
//   - changed by others to a different value: a conflict. The value already
//     committed on the server stands (it was there first, and other devices may
//     already have pulled it); the client's value is set aside in a conflict
//     record for a clerk to resolve.
//
// Workflow and assignment fields never reach Merge: they change only through
// workflow actions, which the state machine decides.
func Merge(in MergeInput) MergeResult {
	res := MergeResult{Set: map[string]string{}, Final: map[string]string{}}
	base := map[string]string{} // value before the first foreign change
	for _, ch := range in.Theirs {
		if _, seen := base[ch.Field]; !seen {
			base[ch.Field] = ch.Old
		}
	}
	for _, f := range sortedKeys(in.Mine) {
		mine := in.Mine[f]
		cur := in.Current[f]
		b, theirsChanged := base[f]
		switch {
		case mine == cur:
			// Already the value: converged, whoever wrote it.
		case !theirsChanged:
			res.Set[f] = mine
		case b == cur:
			// Others changed it and changed it back: nothing of theirs to keep.
			res.Set[f] = mine
		default:
			res.Conflicts = append(res.Conflicts, FieldConflict{Field: f, Base: b, Kept: cur, SetAside: mine})
		}
		if v, ok := res.Set[f]; ok {
			res.Final[f] = v
		} else {
			res.Final[f] = cur
		}
	}
	for f := range base {
		if _, mineToo := in.Mine[f]; !mineToo {
			res.Parallel = true
			break
		}
	}
	return res
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
