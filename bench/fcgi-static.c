/* The floor of the FastCGI path: a single-threaded libfcgi responder answering a static
 * JSON body, for row F of the benchmark. Usage: fcgi-static SOCKET_PATH */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s SOCKET\n", argv[0]); return 2; }
    setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0);
    FCGX_Init();
    int fd = FCGX_OpenSocket(argv[1], 1024);
    chmod(argv[1], 0666);
    static const char response[] =
        "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 67\r\n\r\n"
        "{\"status\":\"OK\",\"name\":\"teleconsultation-backend\",\"version\":\"1.0.0\"}";
    FCGX_Request request;
    FCGX_InitRequest(&request, fd, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(response, sizeof(response) - 1, request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
