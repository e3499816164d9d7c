/* Runs SQL scripts through SQLite's C API (the registry's amalgamation has no shell).
 *
 *   sqlite_driver DATABASE SCRIPT...
 *
 * Each script's statements run in order; every result row prints as its columns joined by
 * '|' (NULL prints as "NULL"), and an error prints "error: MESSAGE" and continues. Lines
 * starting with '.' are driver commands:
 *   .reopen        close the database and open it again (the file must persist)
 *   .print TEXT    print TEXT
 * The exit status is the number of errors (at most 100). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

static sqlite3 *db;
static const char *db_path;
static int errors;

static void open_db(void) {
    if (sqlite3_open(db_path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_driver: cannot open %s: %s\n", db_path, sqlite3_errmsg(db));
        exit(101);
    }
}

static void run_sql(const char *sql) {
    while (*sql) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK) {
            printf("error: %s\n", sqlite3_errmsg(db));
            errors++;
            return;
        }
        if (stmt == NULL) { /* only whitespace or a comment left */
            sql = tail;
            if (tail == NULL) return;
            continue;
        }
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            int n = sqlite3_column_count(stmt);
            for (int i = 0; i < n; i++) {
                const unsigned char *text = sqlite3_column_text(stmt, i);
                printf("%s%s", i ? "|" : "", text ? (const char *)text : "NULL");
            }
            putchar('\n');
        }
        if (rc != SQLITE_DONE) {
            printf("error: %s\n", sqlite3_errmsg(db));
            errors++;
        }
        sqlite3_finalize(stmt);
        sql = tail;
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(102);
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    if (!buf) exit(103);
    buf[len] = 0;
    fclose(f);
    return buf;
}

static void run_script(char *text) {
    char *chunk = text;
    char *line = text;
    while (*line) {
        char *end = strchr(line, '\n');
        char *next = end ? end + 1 : line + strlen(line);
        if (line[0] == '.') {
            char saved = *line;
            *line = 0; /* end the SQL chunk before the command */
            run_sql(chunk);
            *line = saved;
            if (end) *end = 0;
            if (strcmp(line, ".reopen") == 0) {
                if (sqlite3_close(db) != SQLITE_OK) {
                    printf("error: close: %s\n", sqlite3_errmsg(db));
                    errors++;
                }
                open_db();
            } else if (strncmp(line, ".print", 6) == 0) {
                printf("%s\n", line[6] ? line + 7 : "");
            } else {
                printf("error: unknown command %s\n", line);
                errors++;
            }
            chunk = next;
        }
        line = next;
    }
    run_sql(chunk);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_driver DATABASE SCRIPT...\n");
        return 100;
    }
    db_path = argv[1];
    open_db();
    printf("sqlite %s\n", sqlite3_libversion());
    for (int i = 2; i < argc; i++) {
        char *text = read_file(argv[i]);
        run_script(text);
        free(text);
    }
    if (sqlite3_close(db) != SQLITE_OK) {
        printf("error: close: %s\n", sqlite3_errmsg(db));
        errors++;
    }
    return errors > 100 ? 100 : errors;
}
