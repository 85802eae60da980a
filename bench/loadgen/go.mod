module drawnet.dev/bench/loadgen

go 1.26
