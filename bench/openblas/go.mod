module github.com/frugal-ml/frugal/bench/openblas

go 1.26.0

require github.com/frugal-ml/frugal v0.0.0

replace github.com/frugal-ml/frugal => ../..
