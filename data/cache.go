package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The decoded-dataset cache. Decompressing MNIST's 47 MB of training pixels
// from gzip costs a few hundred milliseconds on every run; reading them back
// raw costs a few tens. The cache stores the 8-bit pixels, not float32, so
// it is a quarter of the size and the float conversion (a table lookup per
// pixel) is cheaper than reading the extra bytes.
//
// Layout (little-endian):
//
//	0   [8]byte "FRGLDS\x00\x01"  magic, last byte = format version
//	8   uint32 N, C, H, W, Classes
//	28  uint32 len(key)
//	32  key    identity of the source (module version, or paths+sizes+mtimes)
//	..  N*C*H*W pixel bytes (NCHW)
//	..  N label bytes
//	end uint32 CRC-32C of every byte before it
//
// The key inside the file, not just the file name, decides a hit, and the
// CRC covers everything, so a truncated, bit-flipped or stale file is
// rebuilt rather than trusted. Files are written to a temporary name and
// renamed into place, so a crash or a concurrent run never leaves a
// half-written file under the real name.

var cacheMagic = [8]byte{'F', 'R', 'G', 'L', 'D', 'S', 0, 1}

const cacheHeaderLen = 32

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheEntry is the content of one cache file.
type cacheEntry struct {
	key                 string
	n, c, h, w, classes int
	pix, labels         []uint8
}

// encodeCache writes e in the cache format to w.
func encodeCache(w io.Writer, e *cacheEntry) error {
	crc := crc32.New(castagnoli)
	mw := io.MultiWriter(w, crc)
	var hdr [cacheHeaderLen]byte
	copy(hdr[:8], cacheMagic[:])
	for i, v := range []int{e.n, e.c, e.h, e.w, e.classes, len(e.key)} {
		binary.LittleEndian.PutUint32(hdr[8+4*i:], uint32(v))
	}
	for _, b := range [][]byte{hdr[:], []byte(e.key), e.pix, e.labels} {
		if _, err := mw.Write(b); err != nil {
			return err
		}
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}

// decodeCache parses and verifies a cache file's bytes. The returned slices
// alias b. Any inconsistency is an ErrCorrupt error; it never panics.
func decodeCache(b []byte) (*cacheEntry, error) {
	if len(b) < cacheHeaderLen+4 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrCorrupt, len(b))
	}
	if !bytes.Equal(b[:8], cacheMagic[:]) {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:8])
	}
	u := func(i int) uint64 { return uint64(binary.LittleEndian.Uint32(b[8+4*i:])) }
	n, c, h, w, classes, keyLen := u(0), u(1), u(2), u(3), u(4), u(5)
	// All factors are < 2^32; check step by step against the file length so
	// no product can overflow.
	total := uint64(len(b))
	sz := c * h * w // c*h < 2^64; guard before the next multiply
	if c == 0 || h == 0 || w == 0 || c*h > total || sz > total || (n > 0 && sz > total/n) {
		return nil, fmt.Errorf("%w: shape %dx%dx%dx%d does not fit in %d bytes", ErrCorrupt, n, c, h, w, total)
	}
	want := uint64(cacheHeaderLen) + keyLen + n*sz + n + 4
	if want != total {
		return nil, fmt.Errorf("%w: header says %d bytes, file has %d", ErrCorrupt, want, total)
	}
	body := b[:len(b)-4]
	if got, stored := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != stored {
		return nil, fmt.Errorf("%w: checksum 0x%08x, stored 0x%08x", ErrCorrupt, got, stored)
	}
	if classes == 0 || classes > 256 {
		return nil, fmt.Errorf("%w: %d classes", ErrCorrupt, classes)
	}
	off := uint64(cacheHeaderLen)
	e := &cacheEntry{key: string(b[off : off+keyLen]), n: int(n), c: int(c), h: int(h), w: int(w), classes: int(classes)}
	off += keyLen
	e.pix = b[off : off+n*sz : off+n*sz]
	off += n * sz
	e.labels = b[off : off+n : off+n]
	for i, l := range e.labels {
		if uint64(l) >= classes {
			return nil, fmt.Errorf("%w: label %d at %d out of range for %d classes", ErrCorrupt, l, i, classes)
		}
	}
	return e, nil
}

// cacheRoot is where decoded datasets are kept: Options.CacheDir, else
// $FRUGAL_CACHE_DIR, else os.UserCacheDir()/frugal. "" means no cache is
// possible (no home directory), which disables caching, not loading.
func cacheRoot(opt Options) string {
	if opt.CacheDir != "" {
		return opt.CacheDir
	}
	if d := os.Getenv("FRUGAL_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "frugal")
	}
	return ""
}

// cachePath names the cache file for a dataset: readable prefix for humans
// browsing the directory, hash of the key for uniqueness.
func cachePath(root, slug, split, key string) string {
	h := sha256.Sum256([]byte(key))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, slug)
	return filepath.Join(root, "datasets", fmt.Sprintf("%s-%s-%s.bin", clean, split, hex.EncodeToString(h[:8])))
}

// readCache returns the entry at path if it exists, verifies and carries
// key. A missing file is (nil, nil); a corrupt or stale one is an error,
// which callers treat as a miss and then overwrite.
func readCache(path, key string) (*cacheEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e, err := decodeCache(b)
	if err != nil {
		return nil, fmt.Errorf("data: cache %s: %w", path, err)
	}
	if e.key != key {
		return nil, fmt.Errorf("data: cache %s: %w: stale, built from %q, want %q", path, ErrCorrupt, e.key, key)
	}
	return e, nil
}

// writeCache writes e to path atomically: a temporary file in the same
// directory (so rename cannot cross file systems), synced, then renamed over
// the destination. Readers see the old file or the new one, never a part.
func writeCache(path string, e *cacheEntry) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = encodeCache(bw, e); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
