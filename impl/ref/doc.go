// Package ref holds frugal's reference kernels in plain Go: convolution
// (via im2col), pooling, normalisation, softmax, matrix multiply. They are
// the specification every fast kernel is tested against, and the building
// blocks the runtime ops and autograd share. Clarity first; the hot loops are
// still written to let the compiler keep values in registers.
package ref
