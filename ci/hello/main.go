// hello links libcurl (and through it OpenSSL, nghttp2, c-ares, zlib) statically with cgo;
// the CI examples build it for arm64 and riscv64 with crossroot's sysroots.
package main

// #cgo pkg-config: libcurl
// #include <curl/curl.h>
import "C"

import "fmt"

func main() {
	fmt.Println(C.GoString(C.curl_version()))
}
