module github.com/frugal-ml/frugal/_asm

go 1.26.0
