package cli

import (
	"io/fs"
	"os"

	"github.com/fieldsync/fieldsync/web"
)

// consoleFS returns the clerk console's embedded assets. The map's tile URL
// and attribution come from FIELDSYNC_TILE_URL and FIELDSYNC_TILE_ATTRIBUTION;
// without a URL the map has no base layer and shows points and grids only.
func consoleFS() fs.FS {
	return web.WithConfig(web.Config{TileURL: os.Getenv("FIELDSYNC_TILE_URL"), TileAttribution: os.Getenv("FIELDSYNC_TILE_ATTRIBUTION")})
}
