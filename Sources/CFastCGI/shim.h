#ifndef CFASTCGI_SHIM_H
#define CFASTCGI_SHIM_H
#include <fastcgi.h>
#include <fcgiapp.h>
#endif
