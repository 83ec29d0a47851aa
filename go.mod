module github.com/frugal-ml/frugal

go 1.26
