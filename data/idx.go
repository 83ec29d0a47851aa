package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// IDXType is the element type code stored in the third byte of an IDX magic
// number (LeCun's format used by MNIST and Fashion-MNIST).
type IDXType byte

// The element types the IDX format defines. Multi-byte elements are stored
// big-endian.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

// Size is the element size in bytes, or 0 for a code the format does not define.
func (t IDXType) Size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return fmt.Sprintf("unknown(0x%02X)", byte(t))
}

// MaxIDXBytes bounds the payload an IDX header may promise. The header is
// untrusted: without a bound, four bytes of dims could ask for exabytes, and
// the reader would either overflow int or die allocating. 2 GiB is ~40x the
// MNIST training images and far below what a 24 GiB machine can hold twice.
const MaxIDXBytes = 1 << 31

// Sentinel errors, so callers and tests can tell failures apart with
// errors.Is; the message itself always names the file and the detail.
var (
	ErrBadMagic  = errors.New("bad magic number")
	ErrDType     = errors.New("wrong dtype")
	ErrRank      = errors.New("wrong rank")
	ErrTruncated = errors.New("truncated")
	ErrTooLarge  = errors.New("dims too large")
	ErrTrailing  = errors.New("trailing data")
	ErrCorrupt   = errors.New("corrupt")
	ErrMismatch  = errors.New("count mismatch")
	ErrNotFound  = errors.New("dataset not found")
)

// FileError is a problem with one input file. Its message has the form
// "data: PATH: DETAIL" so a user knows which file to look at, and it unwraps
// to one of the Err* sentinels (or an I/O error) for programmatic checks.
type FileError struct {
	Path   string
	Kind   error
	Detail string
}

func (e *FileError) Error() string { return "data: " + e.Path + ": " + e.Detail }
func (e *FileError) Unwrap() error { return e.Kind }

func fileErr(path string, kind error, format string, args ...any) error {
	return &FileError{Path: path, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// IDX is one decoded IDX file.
type IDX struct {
	Path string
	Type IDXType
	Dims []int
	// Data holds the raw elements exactly as stored (big-endian for
	// multi-byte types); len(Data) == product(Dims) * Type.Size().
	Data []byte
}

// dimString renders dims as "60000x28x28", the shape users recognise.
func dimString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "x")
}

// ReadIDXFile reads an IDX file, gzip-compressed or not (detected by the gzip
// magic 0x1f8b, not by the file name, because renamed and double-extension
// files are common in the wild).
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var size int64 = -1
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return readIDX(f, path, size)
}

// ReadIDX reads an IDX stream (gzip-compressed or not); name is used in
// error messages. It never trusts the header for allocation: memory grows
// only with bytes actually read, so a lying header costs nothing.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	return readIDX(r, name, -1)
}

// readIDX is ReadIDX with the on-disk size when known, which lets a raw file
// that is too short be rejected before reading and lets the payload buffer
// be sized exactly once.
func readIDX(r io.Reader, name string, fileSize int64) (*IDX, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	var src io.Reader = br
	gz := len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b
	after := ""
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, fileErr(name, ErrTruncated, "truncated: gzip header is incomplete")
			}
			return nil, fileErr(name, ErrCorrupt, "corrupt gzip header: %v", err)
		}
		defer zr.Close()
		src = zr
		fileSize = -1 // the compressed size says nothing exact about the payload
		after = " after gunzip"
	}
	// fail turns a read error into a FileError; short describes what was
	// missing when the stream simply ended.
	fail := func(err error, short func() string) error {
		if kind, msg := streamErr(err, gz); kind != nil {
			return fileErr(name, kind, "%s", msg)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if gz && err == io.ErrUnexpectedEOF {
				return fileErr(name, ErrTruncated, "truncated: %s (the gzip stream ends early)", short())
			}
			return fileErr(name, ErrTruncated, "truncated: %s", short())
		}
		return fileErr(name, err, "read: %v", err)
	}

	var magic [4]byte
	if n, err := io.ReadFull(src, magic[:]); err != nil {
		return nil, fail(err, func() string {
			return fmt.Sprintf("file has %d bytes%s, too short for the 4-byte IDX magic number", n, after)
		})
	}
	m32 := binary.BigEndian.Uint32(magic[:])
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fileErr(name, ErrBadMagic, "bad magic number 0x%08X: an IDX file starts with two zero bytes (not an IDX file, or a damaged one?)", m32)
	}
	typ := IDXType(magic[2])
	if typ.Size() == 0 {
		return nil, fileErr(name, ErrDType, "wrong dtype code 0x%02X in magic number 0x%08X: IDX defines 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64",
			magic[2], m32)
	}
	rank := int(magic[3])
	if rank == 0 {
		return nil, fileErr(name, ErrRank, "wrong rank 0 in magic number 0x%08X: an IDX file needs at least one dimension", m32)
	}
	headerLen := 4 + 4*rank
	dimBytes := make([]byte, 4*rank)
	if n, err := io.ReadFull(src, dimBytes); err != nil {
		return nil, fail(err, func() string {
			return fmt.Sprintf("header of a rank-%d IDX file needs %d bytes, file has %d%s", rank, headerLen, 4+n, after)
		})
	}
	dims := make([]int, rank)
	elems := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		dims[i] = int(d)
		// Saturate once past the bound: each factor is < 2^32 and elems
		// stays <= MaxIDXBytes+1 < 2^32 before a multiply, so the uint64
		// product never wraps, whatever the rank.
		elems = min(elems*uint64(d), MaxIDXBytes+1)
	}
	if elems*uint64(typ.Size()) > MaxIDXBytes {
		return nil, fileErr(name, ErrTooLarge, "dims too large: header promises %s %s values, more than the %d-byte limit (corrupt header?)",
			dimString(dims), typ, MaxIDXBytes)
	}
	need := int(elems) * typ.Size()
	promise := fmt.Sprintf("header promises %s %s values (%d bytes)", dimString(dims), typ, need)
	if typ == IDXUint8 {
		promise = fmt.Sprintf("header promises %s bytes", dimString(dims))
	}

	initial := min(need, 16<<20)
	if fileSize >= 0 {
		have := fileSize - int64(headerLen)
		if have < int64(need) {
			return nil, fileErr(name, ErrTruncated, "truncated: %s, file has %d", promise, have)
		}
		if have > int64(need) {
			return nil, fileErr(name, ErrTrailing, "trailing data: %s, file has %d (%d extra bytes: wrong dims or concatenated files?)", promise, have, have-int64(need))
		}
		initial = need
	}

	// Grow with the bytes that actually arrive, never to what the header
	// claims up front: a 20-byte file promising 2 GiB must not allocate it.
	buf := make([]byte, initial)
	filled := 0
	for filled < need {
		if filled == len(buf) {
			nb := make([]byte, min(need, 2*len(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, err := src.Read(buf[filled:])
		filled += n
		if err != nil && !(err == io.EOF && filled == need) {
			return nil, fail(err, func() string {
				return fmt.Sprintf("%s, file has %d%s", promise, filled, after)
			})
		}
	}
	// Read past the payload. For gzip this is also what makes the reader
	// verify the CRC-32 and length trailer: a damaged archive whose deflate
	// stream still decodes is caught only here.
	var extra [512]byte
	for {
		n, err := src.Read(extra[:])
		if n > 0 {
			rest, _ := io.Copy(io.Discard, io.LimitReader(src, MaxIDXBytes))
			return nil, fileErr(name, ErrTrailing, "trailing data: %s, file has %d more bytes%s (wrong dims or concatenated files?)", promise, int64(n)+rest, after)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(err, func() string { return "stream ends early" })
		}
	}
	return &IDX{Path: name, Type: typ, Dims: dims, Data: buf}, nil
}

// streamErr classifies a decompression error as corruption. It returns a
// nil kind for everything else (EOFs, which the caller reports as
// truncation with the byte counts, and I/O errors).
func streamErr(err error, gz bool) (error, string) {
	if !gz {
		return nil, ""
	}
	switch {
	case errors.Is(err, gzip.ErrChecksum):
		return ErrCorrupt, "corrupt gzip data: checksum mismatch (damaged download?)"
	case errors.Is(err, gzip.ErrHeader):
		return ErrCorrupt, "corrupt gzip data: invalid header of a following member"
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		return ErrCorrupt, "corrupt gzip data: " + err.Error()
	}
	return nil, ""
}

// WriteIDX writes an uncompressed IDX file: the 4-byte magic, big-endian
// uint32 dims, then data as given (already big-endian for multi-byte types).
// It exists so tests and tools can produce inputs the readers accept.
func WriteIDX(w io.Writer, typ IDXType, dims []int, data []byte) error {
	if typ.Size() == 0 {
		return fmt.Errorf("data: WriteIDX: unknown dtype 0x%02X", byte(typ))
	}
	if len(dims) == 0 || len(dims) > 255 {
		return fmt.Errorf("data: WriteIDX: rank %d, want 1..255", len(dims))
	}
	n := typ.Size()
	for _, d := range dims {
		if d < 0 || uint64(d) > 0xFFFFFFFF {
			return fmt.Errorf("data: WriteIDX: dim %d out of range", d)
		}
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("data: WriteIDX: %s %s needs %d bytes, got %d", dimString(dims), typ, n, len(data))
	}
	hdr := make([]byte, 4+4*len(dims))
	hdr[2], hdr[3] = byte(typ), byte(len(dims))
	for i, d := range dims {
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// ReadImages reads an image IDX file: uint8, rank 3 (N x rows x cols) or
// rank 4 (N x rows x cols x channels, as EMNIST-style tools sometimes write).
// The returned pixels are in file order; for rank 4 that is HWC per image,
// so they are transposed to CHW here, which is what the rest of frugal uses.
func ReadImages(path string) (n, c, h, w int, pix []uint8, err error) {
	x, err := ReadIDXFile(path)
	if err != nil {
		return 0, 0, 0, 0, nil, err
	}
	if x.Type != IDXUint8 {
		return 0, 0, 0, 0, nil, fileErr(path, ErrDType, "wrong dtype: images are %s (0x%02X), want uint8 (0x08)", x.Type, byte(x.Type))
	}
	switch len(x.Dims) {
	case 3:
		n, c, h, w = x.Dims[0], 1, x.Dims[1], x.Dims[2]
		pix = x.Data
	case 4:
		n, h, w, c = x.Dims[0], x.Dims[1], x.Dims[2], x.Dims[3]
		pix = make([]uint8, len(x.Data))
		hw := h * w
		for i := 0; i < n; i++ {
			src := x.Data[i*hw*c : (i+1)*hw*c]
			dst := pix[i*hw*c : (i+1)*hw*c]
			for p := 0; p < hw; p++ {
				for ch := 0; ch < c; ch++ {
					dst[ch*hw+p] = src[p*c+ch]
				}
			}
		}
	default:
		return 0, 0, 0, 0, nil, fileErr(path, ErrRank, "wrong rank: images have rank %d (%s), want 3 (N x rows x cols)", len(x.Dims), dimString(x.Dims))
	}
	if n == 0 || c == 0 || h == 0 || w == 0 {
		return 0, 0, 0, 0, nil, fileErr(path, ErrRank, "empty images: dims %s", dimString(x.Dims))
	}
	return n, c, h, w, pix, nil
}

// ReadLabels reads a label IDX file: uint8, rank 1.
func ReadLabels(path string) ([]uint8, error) {
	x, err := ReadIDXFile(path)
	if err != nil {
		return nil, err
	}
	if x.Type != IDXUint8 {
		return nil, fileErr(path, ErrDType, "wrong dtype: labels are %s (0x%02X), want uint8 (0x08)", x.Type, byte(x.Type))
	}
	if len(x.Dims) != 1 {
		return nil, fileErr(path, ErrRank, "wrong rank: labels have rank %d (%s), want 1 (N)", len(x.Dims), dimString(x.Dims))
	}
	return x.Data, nil
}

// ReadPair reads an images file and its labels file into a Dataset with
// Images scaled to [0,1] and no normalisation. classes <= 0 means "one more
// than the largest label". A count mismatch names both files, since either
// may be the wrong one.
func ReadPair(name, imagesPath, labelsPath string, classes int) (*Dataset, error) {
	n, c, h, w, pix, err := ReadImages(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, &FileError{Path: imagesPath, Kind: ErrMismatch,
			Detail: fmt.Sprintf("count mismatch: images file has %d samples but labels file %s has %d", n, labelsPath, len(labels))}
	}
	if classes <= 0 {
		for _, l := range labels {
			classes = max(classes, int(l)+1)
		}
	}
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fileErr(labelsPath, ErrCorrupt, "label %d at index %d is out of range for %d classes", l, i, classes)
		}
	}
	return FromUint8(name, n, c, h, w, pix, labels, classes)
}
