module foxplug.example/go-host

go 1.19
