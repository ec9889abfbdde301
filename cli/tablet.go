package cli

import (
	"context"
	"fmt"
)

// tablet simulates a tablet from the command line with the reference client.
func tablet(ctx context.Context, args []string, env Env) error {
	return fmt.Errorf("tablet: not built yet")
}
