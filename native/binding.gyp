{
  "targets": [
    {
      "target_name": "herald_packet",
      "sources": ["src/packet_socket.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
