module github.com/frugal-ml/frugal/arith/internal/x448check

go 1.26.0

require (
	github.com/frugal-ml/frugal v0.0.0
	github.com/x448/float16 v0.8.4
)

replace github.com/frugal-ml/frugal => ../../..
