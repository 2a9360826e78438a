#ifndef CFASTCGI_SHIM_H
#define CFASTCGI_SHIM_H
#include <fastcgi.h>
#endif
