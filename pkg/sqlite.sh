# SQLite 3: the embedded SQL database engine: sqlite3.h, libsqlite3.a, sqlite3.pc (CMake's
# FindSQLite3 finds it), and the sqlite3 shell.
summary="SQLite 3, the embedded SQL database"
source=sqlite3
# Its configure uses zlib when it finds it (the shell's compression functions): always.
deps="zlib"

build() {
    # Debian's patches change configure.ac and Makefile.in: regenerate, as Debian does.
    autoreconf -fi
    # The amalgamation is generated with the host's tclsh; the build's own code generators
    # (lemon, mkkeywordhash) are host programs (BUILD_CC). The feature set follows Debian's.
    ./configure --prefix="$KILN_PKG_PREFIX" --disable-shared --enable-static \
        --disable-tcl --disable-readline --disable-editline --enable-threadsafe \
        --enable-fts4 --enable-fts5 --enable-json BUILD_CC=cc \
        CFLAGS="-O2 -fno-strict-aliasing -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA \
            -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_RTREE=1 \
            -DSQLITE_SOUNDEX=1 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_ENABLE_DBSTAT_VTAB \
            -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS \
            -DSQLITE_USE_URI=1 -DSQLITE_ENABLE_PREUPDATE_HOOK -DSQLITE_ENABLE_SESSION \
            -DSQLITE_ENABLE_STMTVTAB"
    make -j"$KILN_PKG_JOBS" libsqlite3.la sqlite3
    make install DESTDIR="$KILN_PKG_DESTDIR"
    rm -rf "$KILN_PKG_DESTDIR$KILN_PKG_PREFIX/share/man"
}

tests() {
    # The shell, relinked against the current runtime.
    rm -f sqlite3
    make -j"$KILN_PKG_JOBS" sqlite3
    cp sqlite3 "$KILN_PKG_TESTS"/
}
