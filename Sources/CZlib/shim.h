/* zlib for Swift: the system header, imported as is (Debian: zlib1g-dev). */
#include <zlib.h>
