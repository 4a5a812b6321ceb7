// The one translation unit that compiles Asio, Asio-SSL and Beast
// (separate compilation): every other file only includes their headers, so
// the 2-core build pays for these once.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
