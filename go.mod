module zhengxiang

go 1.26.8

require (
	github.com/uber/h3-go/v4 v4.1.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
)
