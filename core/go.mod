module github.com/gue-go/gue/core

go 1.23
