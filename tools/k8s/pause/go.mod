module drawnet.local/pause

go 1.26
